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
            // The message, then the strategy's own frames of the traceback mlua appends.
            let (head, traceback) =
                message.split_once("\nstack traceback:").unwrap_or((message.as_str(), ""));
            let head = hide_addresses(head);
            let frames = strategy_frames(traceback);
            let mut e = if frames.len() > 1 {
                error(
                    ErrorCode::RuntimeError,
                    &format!("{head}\ntraceback: {}", frames.join(" ← ")),
                )
            } else {
                error(ErrorCode::RuntimeError, &head)
            };
            e.line = line_of(&head).or_else(|| line_of(traceback));
            e
        }
        other => error(ErrorCode::RuntimeError, &other.to_string()),
    }
}

/// `strategy:7: in function 'f'` → `line 7 in f`, for each frame of the strategy's own code in a
/// Luau traceback (host and C frames left out), innermost first.
fn strategy_frames(traceback: &str) -> Vec<String> {
    traceback
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("strategy:")?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let name = rest
                .split_once("in function '")
                .and_then(|(_, n)| n.split('\'').next())
                .map(|n| format!(" in {n}"))
                .unwrap_or_default();
            (!digits.is_empty()).then(|| format!("line {digits}{name}"))
        })
        .take(8)
        .collect()
}

/// Replaces heap addresses (`table: 0x55f621c1cc00`, what `error({})` reports) so that no
/// address of the server's memory reaches a user.
fn hide_addresses(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("0x") {
        out.push_str(&rest[..at]);
        let hex = rest[at + 2..].chars().take_while(char::is_ascii_hexdigit).count();
        if hex >= 6 {
            out.push_str("(address hidden)");
        } else {
            out.push_str(&rest[at..at + 2 + hex]);
        }
        rest = &rest[at + 2 + hex..];
    }
    out.push_str(rest);
    if out.starts_with("table: (address hidden)") {
        return "error raised with a table value (pass a string to error() to give a message)"
            .to_owned();
    }
    out
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

    #[test]
    fn tracebacks_keep_the_strategy_frames_and_addresses_are_hidden() {
        let tb = "\n\t[C]: in ?\n\tstrategy:1: in function 'f'\n\tstrategy:3: in function 'g'\n\t[string \"host\"]:6\n\tstrategy:5: in function <strategy:1>";
        assert_eq!(strategy_frames(tb), ["line 1 in f", "line 3 in g", "line 5"]);
        assert!(!hide_addresses("table: 0x55f621c1cc00").contains("0x55"));
        assert_eq!(
            hide_addresses("userdata: 0x7f22140 and 0x1f"),
            "userdata: (address hidden) and 0x1f"
        );
    }
}
