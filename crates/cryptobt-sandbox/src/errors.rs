//! Turning what Luau and mlua report into a `StrategyError`: a stable code, a message of at most
//! 1 KiB without server paths, and the strategy line when there is one.

use cryptobt_domain::{ports::StrategyError, ErrorCode};

use crate::guard::Guard;

/// The longest message a run reports.
pub(crate) const MAX_MESSAGE: usize = 1_024;

/// Cuts `text` to [`MAX_MESSAGE`] bytes on a character boundary, marking the cut.
pub(crate) fn truncate(text: &str) -> String {
    if text.len() <= MAX_MESSAGE {
        return text.to_owned();
    }
    let marker = "… [truncated]";
    let mut end = MAX_MESSAGE - marker.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{marker}", &text[..end])
}

/// The first `strategy:LINE:` in a message.
pub(crate) fn line_of(message: &str) -> Option<u32> {
    let at = message.find("strategy:")? + "strategy:".len();
    let digits: String = message[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

pub(crate) fn error(code: ErrorCode, message: &str) -> StrategyError {
    let message = truncate(message.trim());
    StrategyError { code, line: line_of(&message), message }
}

/// Classifies an mlua error. A tripped guard decides first: its flag, not the message text,
/// tells a limit from a script error.
pub(crate) fn classify(err: &mlua::Error, guard: &Guard) -> StrategyError {
    if let Some(trip) = guard.tripped() {
        return StrategyError { code: trip.code(), message: guard.message(trip), line: None };
    }
    match err {
        mlua::Error::SyntaxError { message, .. } => error(ErrorCode::SyntaxError, message),
        mlua::Error::MemoryError(_) => {
            guard.trip(crate::guard::Trip::Memory);
            classify(err, guard)
        }
        mlua::Error::CallbackError { cause, traceback } => {
            // A host function's error has no position of its own: take it from the traceback.
            let mut e = classify(cause, guard);
            e.line = e.line.or_else(|| line_of(traceback));
            e
        }
        mlua::Error::RuntimeError(message) => {
            // Keep the message, drop the traceback mlua appends.
            let head = message.split("\nstack traceback:").next().unwrap_or(message);
            error(ErrorCode::RuntimeError, head)
        }
        other => error(ErrorCode::RuntimeError, &other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_capped_and_lines_found() {
        let long = "strategy:7: ".to_owned() + &"é".repeat(2_000);
        let e = error(ErrorCode::RuntimeError, &long);
        assert!(e.message.len() <= MAX_MESSAGE);
        assert!(e.message.ends_with("[truncated]"));
        assert_eq!(e.line, Some(7));
        assert_eq!(line_of("strategy:12: attempt to call a nil value"), Some(12));
        assert_eq!(line_of("no line here"), None);
    }
}
