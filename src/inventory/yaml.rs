//! A YAML document as a tree of nodes that remember where they were written.
//!
//! serde stops at the first problem in a file; an inventory check must report all of them. So
//! the inventory is read in two steps: this module turns the parser's events (granit-parser, the
//! parser under serde-saphyr) into a tree whose every node carries its line and column, and
//! `read` walks that tree, collecting every problem it meets.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span};

use crate::diag::Pos;

/// A YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The node's content.
    pub value: Value,
    /// Where the node starts (for a mapping entry's value, where the value starts).
    pub pos: Pos,
}

/// The content of a YAML node. Scalars keep their text; typing happens when they are read.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An empty value, `~` or `null`.
    Null,
    /// A scalar. `quoted` is true for quoted and block scalars and for `!!str`, whose text is
    /// always a string, never a number or a boolean.
    Scalar {
        /// The scalar's text after escapes are processed.
        text: String,
        /// Whether the scalar is a string by construction.
        quoted: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order (duplicate keys are kept so they can be reported).
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// A short name of the node's kind for messages ("a mapping", "a list", ...).
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "nothing",
            Value::Scalar { .. } => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The scalar text, if this node is a scalar.
    pub fn scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// This node as JSON, resolving plain scalars by the YAML 1.2 core schema (used to check
    /// inventories against the published JSON Schema).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Scalar { text, quoted: true } => J::String(text.clone()),
            Value::Scalar { text, quoted: false } => {
                if matches!(text.as_str(), "true" | "True" | "TRUE") {
                    J::Bool(true)
                } else if matches!(text.as_str(), "false" | "False" | "FALSE") {
                    J::Bool(false)
                } else if let Ok(i) = text.parse::<i64>() {
                    J::from(i)
                } else if let Some(f) = text
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && text.chars().any(|c| c.is_ascii_digit()))
                {
                    J::from(f)
                } else {
                    J::String(text.clone())
                }
            }
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.scalar().unwrap_or_default().to_owned(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// A YAML syntax error and where the parser found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where the parser stopped.
    pub pos: Pos,
    /// The parser's description of the problem.
    pub message: String,
}

/// Parse every document of a YAML text into node trees. Empty documents are dropped.
pub fn parse(text: &str) -> Result<Vec<Node>, SyntaxError> {
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();

    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| SyntaxError {
            pos: Pos::new(to_u32(e.marker().line()), to_u32(e.marker().col() + 1)),
            message: e.info(),
        })?;
        let pos = start(&span);
        let complete = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let is_str_tag = tag.as_ref().is_some_and(|t| t.to_string().ends_with("str"));
                let value = if style == ScalarStyle::Plain && !is_str_tag && is_null(&text) {
                    Value::Null
                } else {
                    Value::Scalar {
                        text: text.into_owned(),
                        quoted: style != ScalarStyle::Plain || is_str_tag,
                    }
                };
                Some((Node { value, pos }, anchor))
            }
            Event::SequenceStart(_, anchor, _) => {
                stack.push(Frame::Seq { items: Vec::new(), pos, anchor });
                None
            }
            Event::MappingStart(_, anchor, _) => {
                stack.push(Frame::Map { entries: Vec::new(), key: None, pos, anchor });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq { items, pos, anchor }) => {
                    Some((Node { value: Value::Seq(items), pos }, anchor))
                }
                _ => unreachable!("the parser balances sequence events"),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map { entries, pos, anchor, .. }) => {
                    Some((Node { value: Value::Map(entries), pos }, anchor))
                }
                _ => unreachable!("the parser balances mapping events"),
            },
            Event::Alias(id) => match anchors.get(&id) {
                Some(node) => Some((Node { value: node.value.clone(), pos }, 0)),
                None => {
                    return Err(SyntaxError { pos, message: "alias to an unknown anchor".into() });
                }
            },
            Event::UnresolvedAlias(name) => {
                return Err(SyntaxError {
                    pos,
                    message: format!("alias *{name} has no anchor before it"),
                });
            }
            _ => None,
        };
        let Some((node, anchor)) = complete else {
            continue;
        };
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => {
                if node.value != Value::Null {
                    docs.push(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
    Ok(docs)
}

enum Frame {
    Seq { items: Vec<Node>, pos: Pos, anchor: usize },
    Map { entries: Vec<(Node, Node)>, key: Option<Node>, pos: Pos, anchor: usize },
}

fn start(span: &Span) -> Pos {
    Pos::new(to_u32(span.start.line()), to_u32(span.start.col() + 1))
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(text: &str, quoted: bool) -> Value {
        Value::Scalar { text: text.into(), quoted }
    }

    #[test]
    fn nodes_carry_line_and_column() {
        let docs = parse("sites:\n  - id: grau\n    link: \"fibre\"\n").unwrap();
        let Value::Map(top) = &docs[0].value else { panic!("not a map") };
        let (key, sites) = &top[0];
        assert_eq!(key.pos, Pos::new(1, 1));
        let Value::Seq(items) = &sites.value else { panic!("not a list") };
        let Value::Map(site) = &items[0].value else { panic!("not a map") };
        assert_eq!(items[0].pos, Pos::new(2, 5));
        assert_eq!(site[0].1.value, scalar("grau", false));
        assert_eq!(site[0].1.pos, Pos::new(2, 9));
        assert_eq!(site[1].1.value, scalar("fibre", true));
        assert_eq!(site[1].1.pos, Pos::new(3, 11));
    }

    #[test]
    fn nulls_and_string_tags() {
        let docs = parse("a:\nb: ~\nc: !!str 12\nd: 'null'\n").unwrap();
        let Value::Map(m) = &docs[0].value else { panic!() };
        assert_eq!(m[0].1.value, Value::Null);
        assert_eq!(m[1].1.value, Value::Null);
        assert_eq!(m[2].1.value, scalar("12", true));
        assert_eq!(m[3].1.value, scalar("null", true));
    }

    #[test]
    fn aliases_copy_the_anchored_node() {
        let docs = parse("a: &x {k: 1}\nb: *x\n").unwrap();
        let Value::Map(m) = &docs[0].value else { panic!() };
        assert_eq!(m[0].1.value, m[1].1.value);
        assert_eq!(m[1].1.pos, Pos::new(2, 4));
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.pos.line >= 1, "{err:?}");
        assert!(!err.message.is_empty());
    }

    #[test]
    fn several_documents_and_empty_ones() {
        let docs = parse("---\na: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert!(parse("").unwrap().is_empty());
        assert!(parse("# only a comment\n").unwrap().is_empty());
    }

    #[test]
    fn json_resolution_follows_the_core_schema() {
        let docs = parse("a: 60\nb: '60'\nc: true\nd: 1.5\ne: 2026-12-31\nf: [x]\n").unwrap();
        assert_eq!(
            docs[0].to_json(),
            serde_json::json!({"a": 60, "b": "60", "c": true, "d": 1.5, "e": "2026-12-31", "f": ["x"]})
        );
    }
}
