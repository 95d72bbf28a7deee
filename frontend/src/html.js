// Text put into the page's HTML: the one escaping every screen uses.

/// `text` with the five characters HTML gives a meaning to replaced by their entities.
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
