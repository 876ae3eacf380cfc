// Which interpreters heapscope can be built for: shared by `build.rs`, which refuses
// the others before anything is compiled, and by the crate's unit tests.

/// The oldest and newest CPython minor versions supported (3.9 to 3.15).
pub const OLDEST_MINOR: u8 = 9;
pub const NEWEST_MINOR: u8 = 15;

/// Why heapscope cannot be built for this interpreter, in one line; `None` when it can.
pub fn unsupported_reason(implementation: &str, major: u8, minor: u8, free_threaded: bool) -> Option<String> {
    let version = format!("{major}.{minor}");
    if implementation != "CPython" {
        return Some(format!(
            "heapscope reads CPython's object layouts and cannot be built for {implementation} {version}; \
             use CPython 3.{OLDEST_MINOR} to 3.{NEWEST_MINOR}"
        ));
    }
    if major != 3 || !(OLDEST_MINOR..=NEWEST_MINOR).contains(&minor) {
        return Some(format!(
            "heapscope supports CPython 3.{OLDEST_MINOR} to 3.{NEWEST_MINOR}, not {version}; \
             install it with one of those interpreters"
        ));
    }
    if free_threaded {
        return Some(format!(
            "heapscope does not support free-threaded CPython ({version}t, Py_GIL_DISABLED) yet: \
             its object headers and collector differ (see docs/free-threading.md); \
             install it with the default build of CPython {version}"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_cpython_builds() {
        for minor in OLDEST_MINOR..=NEWEST_MINOR {
            assert_eq!(unsupported_reason("CPython", 3, minor, false), None);
        }
    }

    #[test]
    fn other_interpreters_are_refused_in_one_line_that_says_what_to_do() {
        let cases = [
            (unsupported_reason("CPython", 3, 8, false), "not 3.8"),
            (unsupported_reason("CPython", 3, 16, false), "not 3.16"),
            (unsupported_reason("CPython", 3, 14, true), "free-threaded CPython (3.14t"),
            (unsupported_reason("PyPy", 3, 11, false), "cannot be built for PyPy 3.11"),
        ];
        for (reason, expected) in cases {
            let reason = reason.expect("refused");
            assert!(reason.contains(expected), "{reason}");
            assert!(reason.contains("CPython 3.") && !reason.contains('\n'), "{reason}");
        }
    }
}
