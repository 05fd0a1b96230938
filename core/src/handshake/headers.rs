//! The header fields of an HTTP head, kept in one buffer.

use std::fmt;
use std::ops::Range;

/// Header fields in order, names as sent, values trimmed. All of them live in
/// one string, so a parsed head costs two allocations, not two per field.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    text: String,
    fields: Vec<Field>,
}

/// Where one field's name and value are in the text.
#[derive(Clone, PartialEq, Eq)]
struct Field {
    name: Range<usize>,
    value: Range<usize>,
}

impl Headers {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `fields` fields of `bytes` bytes of names and values in all.
    pub fn with_capacity(fields: usize, bytes: usize) -> Self {
        Self {
            text: String::with_capacity(bytes),
            fields: Vec::with_capacity(fields),
        }
    }

    /// Appends a field; `value` is stored trimmed.
    pub fn push(&mut self, name: &str, value: &str) {
        let name = self.append(name);
        let value = self.append(value.trim());
        self.fields.push(Field { name, value });
    }

    fn append(&mut self, s: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(s);
        start..self.text.len()
    }

    fn span(&self, range: &Range<usize>) -> &str {
        &self.text[range.clone()]
    }

    /// Every field as (name, value), in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.fields
            .iter()
            .map(|f| (self.span(&f.name), self.span(&f.value)))
    }

    /// The first value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every value of `name` (case-insensitive), in order.
    pub fn get_all<'h>(&'h self, name: &'h str) -> impl Iterator<Item = &'h str> + 'h {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The fields as owned pairs.
    pub fn to_vec(&self) -> Vec<(String, String)> {
        self.iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<N: AsRef<str>, V: AsRef<str>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut headers = Self::new();
        for (n, v) in iter {
            headers.push(n.as_ref(), v.as_ref());
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_their_order_and_values_are_trimmed() {
        let h: Headers = [("Host", " a.example "), ("X-Two", "1"), ("x-two", "2")]
            .into_iter()
            .collect();
        assert_eq!(h.len(), 3);
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [("Host", "a.example"), ("X-Two", "1"), ("x-two", "2")]
        );
        assert_eq!(h.get("HOST"), Some("a.example"));
        assert_eq!(h.get_all("x-TWO").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(h.get("missing"), None);
        assert_eq!(h.to_vec()[1], ("X-Two".to_owned(), "1".to_owned()));
        assert_eq!(
            format!("{h:?}"),
            r#"[("Host", "a.example"), ("X-Two", "1"), ("x-two", "2")]"#
        );
        assert!(Headers::new().is_empty());
    }
}
