//! The little templating the pages need: `{{name}}` placeholders filled with HTML-escaped
//! values in one pass (a value is never scanned again, so it cannot inject a placeholder), and
//! the `next` parameter of the login page, which must stay a local path.
//!
//! Message bodies never pass through here: pages carry no user content but names, and the
//! browser renders messages as text.

/// Fills every `{{key}}` of `template` with the escaped value of `key`; unknown keys become
/// empty. The template itself is trusted (an embedded asset).
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 512);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let key = &after[..end];
        if let Some((_, value)) = values.iter().find(|(k, _)| *k == key) {
            escape_into(&mut out, value);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Appends `text` with `& < > " '` escaped, safe in element content and quoted attributes.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// `text` HTML-escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

/// `raw` if it is a path on this site (`/messages/…`), else `None`: no scheme, no host, no
/// `//` or `/\` (which browsers read as another host), no control characters.
pub fn local_path(raw: &str) -> Option<&str> {
    let ok = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.contains('\\')
        && raw.len() <= 2048
        && !raw.chars().any(char::is_control);
    ok.then_some(raw)
}

/// Percent-encodes `text` for a query parameter value (RFC 3986 unreserved characters and `/`
/// stay as they are).
pub fn encode_query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_placeholders_with_escaped_values_once() {
        let page = render(
            "<p title=\"{{a}}\">{{b}}</p>{{missing}}{{",
            &[("a", "\"x\" & 'y'"), ("b", "<b>{{a}}</b>")],
        );
        assert_eq!(
            page,
            "<p title=\"&quot;x&quot; &amp; &#39;y&#39;\">&lt;b&gt;{{a}}&lt;/b&gt;</p>{{"
        );
    }

    #[test]
    fn only_local_paths_are_next_targets() {
        for good in ["/messages/", "/messages/chat/bob/?x=1", "/"] {
            assert_eq!(local_path(good), Some(good));
        }
        for bad in [
            "",
            "messages",
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "/a\nb",
            " /messages/",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(
            encode_query_value("/messages/chat/bob/?a=1&b=é"),
            "/messages/chat/bob/%3Fa%3D1%26b%3D%C3%A9"
        );
    }
}
