//! A chat's automatic title: the start of its first message, cut at a word boundary.

const MAX_CHARS: usize = 60;

pub fn from_message(content: &str) -> String {
    let flat: String = content.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= MAX_CHARS {
        return flat;
    }
    let cut: String = flat.chars().take(MAX_CHARS).collect();
    let trimmed = match cut.rfind(' ') {
        Some(space) if space > MAX_CHARS / 2 => &cut[..space],
        _ => cut.as_str(),
    };
    format!("{}…", trimmed.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_messages_become_the_title_with_whitespace_flattened() {
        assert_eq!(from_message("  Hello\n  world "), "Hello world");
    }

    #[test]
    fn long_messages_are_cut_at_a_word() {
        let title = from_message(&"word ".repeat(40));
        assert!(title.ends_with('…'));
        assert!(title.chars().count() <= MAX_CHARS + 1);
        assert!(!title.contains("wor…"));
    }
}
