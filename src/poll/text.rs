//! Text a device reports about itself (sysDescr, model, serial, firmware), made safe to keep
//! and to show.
//!
//! A device's strings are untrusted: an agent may send control characters (terminal escapes, a
//! NUL PostgreSQL refuses), characters that reorder what a reader sees (Unicode bidirectional
//! overrides), invalid UTF-8, or an octet string as long as the packet allows. Every such
//! string goes through [`device_text`] once, where the poll reads it, so the state, the store,
//! the metrics, the pages and the reports all hold the same bounded, single-line text.

/// The most characters kept of a device string: SNMP's DisplayString is at most 255 octets,
/// so a well-behaved device never loses anything.
pub const MAX_DEVICE_TEXT_CHARS: usize = 255;

/// What marks a string cut at [`MAX_DEVICE_TEXT_CHARS`].
pub const CUT_MARK: char = '…';

/// Bytes looked at, at most: enough for [`MAX_DEVICE_TEXT_CHARS`] characters of any width
/// with their separators; the rest of a longer string is never decoded.
const MAX_BYTES_READ: usize = MAX_DEVICE_TEXT_CHARS * 8;

/// `bytes` as one line of at most [`MAX_DEVICE_TEXT_CHARS`] characters (plus [`CUT_MARK`] when
/// cut): invalid UTF-8 replaced by U+FFFD, line breaks and tabs become spaces (runs of blanks
/// one space), other control and bidirectional-override characters become U+FFFD, padding
/// (trailing NULs and blanks, leading blanks) removed. `None` when nothing is left.
pub fn device_text(bytes: &[u8]) -> Option<String> {
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, 0 | b' ' | b'\t' | b'\r' | b'\n'))
        .map_or(0, |i| i + 1);
    let read = &bytes[..end.min(MAX_BYTES_READ)];
    let longer = end > MAX_BYTES_READ;
    let decoded = String::from_utf8_lossy(read);
    let mut out = String::with_capacity(decoded.len().min(MAX_DEVICE_TEXT_CHARS * 4));
    let mut chars = 0;
    let mut blank = false;
    let mut cut = longer;
    for c in decoded.chars() {
        let c = match c {
            '\r' | '\n' | '\t' | ' ' => ' ',
            c if c.is_control() || is_bidi_control(c) => char::REPLACEMENT_CHARACTER,
            c => c,
        };
        if c == ' ' {
            blank = !out.is_empty();
            continue;
        }
        let need = usize::from(blank) + 1;
        if chars + need > MAX_DEVICE_TEXT_CHARS {
            cut = true;
            break;
        }
        if blank {
            out.push(' ');
            blank = false;
        }
        out.push(c);
        chars += need;
    }
    if out.is_empty() {
        return None;
    }
    if cut {
        out.push(CUT_MARK);
    }
    Some(out)
}

/// [`device_text`] of a string already decoded (what a store or an older report holds).
pub fn device_str(text: &str) -> Option<String> {
    device_text(text.as_bytes())
}

/// Unicode's explicit bidirectional formatting characters (embeddings, overrides, isolates):
/// shown to a person, they reorder the text around them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_passes_and_padding_goes() {
        assert_eq!(device_text(b"FortiGate-500E").as_deref(), Some("FortiGate-500E"));
        assert_eq!(device_text(b"  WS-C2960X \0\0\0").as_deref(), Some("WS-C2960X"));
        assert_eq!(device_text(b"").as_deref(), None);
        assert_eq!(device_text(b" \0 \t").as_deref(), None);
        assert_eq!(device_text("Módem ñandú".as_bytes()).as_deref(), Some("Módem ñandú"));
    }

    #[test]
    fn line_breaks_become_one_space_and_controls_are_replaced() {
        let cisco = b"Cisco IOS Software, C2960\r\nTechnical Support\r\n\r\nCopyright";
        assert_eq!(
            device_text(cisco).as_deref(),
            Some("Cisco IOS Software, C2960 Technical Support Copyright")
        );
        assert_eq!(device_text(b"a\x1b[31mred\x07").as_deref(), Some("a\u{FFFD}[31mred\u{FFFD}"));
        assert_eq!(device_text(b"a\0b").as_deref(), Some("a\u{FFFD}b"), "an inner NUL");
        assert_eq!(device_text("x\u{202E}yz".as_bytes()).as_deref(), Some("x\u{FFFD}yz"));
        assert_eq!(device_text(b"\x85\x9b").as_deref(), Some("\u{FFFD}\u{FFFD}"), "C1 bytes");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_dropped() {
        assert_eq!(device_text(b"SN\xff\xfe01").as_deref(), Some("SN\u{FFFD}\u{FFFD}01"));
    }

    #[test]
    fn long_strings_are_cut_and_marked() {
        let exact = "x".repeat(MAX_DEVICE_TEXT_CHARS);
        assert_eq!(device_text(exact.as_bytes()), Some(exact.clone()), "255 characters stay");
        let huge = vec![b'A'; 64 * 1024];
        let t = device_text(&huge).unwrap();
        assert_eq!(t.chars().count(), MAX_DEVICE_TEXT_CHARS + 1);
        assert!(t.ends_with(CUT_MARK));
        // Multi-byte characters count as characters, and the cut is at a character boundary.
        let wide = "ñ".repeat(1000);
        let t = device_text(wide.as_bytes()).unwrap();
        assert_eq!(t.chars().count(), MAX_DEVICE_TEXT_CHARS + 1);
        // A 64 KiB string of blanks and breaks is nothing.
        assert_eq!(device_text(&vec![b'\n'; 64 * 1024]), None);
    }

    #[test]
    fn cleaning_twice_changes_nothing() {
        for input in [&b"a\r\nb\x01c"[..], &[b'z'; 300], b"\xff x \xfe"] {
            let once = device_text(input).unwrap();
            assert_eq!(device_str(&once).as_deref(), Some(once.as_str()));
        }
    }
}
