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

/// Why a YAML text was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where the parser stopped.
    pub pos: Pos,
    /// The parser's description of the problem.
    pub message: String,
    /// A syntax error, or a limit of [`Limits`] passed.
    pub kind: ErrorKind,
}

/// What kind of problem stopped the parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not YAML.
    Syntax,
    /// The text is YAML, but would build more than [`Limits`] allows (an alias bomb, a tree
    /// nested too deep).
    Limit,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            ErrorKind::Syntax => write!(f, "YAML syntax: {}", self.message),
            ErrorKind::Limit => f.write_str(&self.message),
        }
    }
}

/// What one YAML text may make the parser build. An alias copies its anchored node, so a few
/// hundred bytes of aliases of aliases ("billion laughs") expand to gigabytes: the copies are
/// counted and bounded before they are made. Inventories use aliases for a shared profile or
/// a list of devices at most; these bounds are orders of magnitude above that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Aliases (`*name`) in one text.
    pub aliases: usize,
    /// What the aliases of one text may add, in bytes of text plus [`NODE_COST`] per node.
    pub expanded: usize,
    /// Nesting of the built tree (aliases included): the tree is dropped and converted
    /// recursively.
    pub depth: usize,
}

impl Limits {
    /// The limits every inventory file is read with.
    pub const INVENTORY: Limits = Limits { aliases: 10_000, expanded: 16 << 20, depth: 64 };
}

/// What one node counts for in [`Limits::expanded`], beside its text: about its size in memory.
pub const NODE_COST: usize = 64;

/// Parse every document of a YAML text into node trees. Empty documents are dropped.
pub fn parse(text: &str) -> Result<Vec<Node>, SyntaxError> {
    parse_with(text, Limits::INVENTORY)
}

/// [`parse`] within explicit limits.
pub fn parse_with(text: &str, limits: Limits) -> Result<Vec<Node>, SyntaxError> {
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    // Each anchored node with its cost and depth, to bound what its aliases copy.
    let mut anchors: HashMap<usize, (Node, Size)> = HashMap::new();
    let mut aliases = 0usize;
    let mut expanded = 0usize;

    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| SyntaxError {
            pos: Pos::new(to_u32(e.marker().line()), to_u32(e.marker().col() + 1)),
            message: e.info(),
            kind: ErrorKind::Syntax,
        })?;
        let pos = start(&span);
        let complete = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let is_str_tag = tag.as_ref().is_some_and(|t| t.to_string().ends_with("str"));
                let size = Size { cost: NODE_COST + text.len(), depth: 1 };
                let value = if style == ScalarStyle::Plain && !is_str_tag && is_null(&text) {
                    Value::Null
                } else {
                    Value::Scalar {
                        text: text.into_owned(),
                        quoted: style != ScalarStyle::Plain || is_str_tag,
                    }
                };
                Some((Node { value, pos }, size, anchor))
            }
            Event::SequenceStart(_, anchor, _) => {
                stack.push(Frame::Seq { items: Vec::new(), pos, anchor, size: Size::EMPTY });
                None
            }
            Event::MappingStart(_, anchor, _) => {
                let size = Size::EMPTY;
                stack.push(Frame::Map { entries: Vec::new(), key: None, pos, anchor, size });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq { items, pos, anchor, size }) => {
                    Some((Node { value: Value::Seq(items), pos }, size.closed(), anchor))
                }
                _ => unreachable!("the parser balances sequence events"),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map { entries, pos, anchor, size, .. }) => {
                    Some((Node { value: Value::Map(entries), pos }, size.closed(), anchor))
                }
                _ => unreachable!("the parser balances mapping events"),
            },
            Event::Alias(id) => match anchors.get(&id) {
                Some((node, size)) => {
                    aliases += 1;
                    expanded = expanded.saturating_add(size.cost);
                    if aliases > limits.aliases || expanded > limits.expanded {
                        return Err(alias_bomb(pos, aliases, limits));
                    }
                    // Checked before the copy is made: the copy is what a bomb is made of.
                    if stack.len() + size.depth > limits.depth {
                        return Err(too_deep(pos, limits));
                    }
                    Some((Node { value: node.value.clone(), pos }, *size, 0))
                }
                None => {
                    return Err(SyntaxError {
                        pos,
                        message: "alias to an unknown anchor".into(),
                        kind: ErrorKind::Syntax,
                    });
                }
            },
            Event::UnresolvedAlias(name) => {
                return Err(SyntaxError {
                    pos,
                    message: format!("alias *{name} has no anchor before it"),
                    kind: ErrorKind::Syntax,
                });
            }
            _ => None,
        };
        if stack.len() > limits.depth {
            return Err(too_deep(pos, limits));
        }
        let Some((node, size, anchor)) = complete else {
            continue;
        };
        if anchor != 0 {
            anchors.insert(anchor, (node.clone(), size));
        }
        match stack.last_mut() {
            None => {
                if node.value != Value::Null {
                    docs.push(node);
                }
            }
            Some(Frame::Seq { items, size: parent, .. }) => {
                parent.add(size);
                items.push(node);
            }
            Some(Frame::Map { entries, key, size: parent, .. }) => {
                parent.add(size);
                match key.take() {
                    None => *key = Some(node),
                    Some(k) => entries.push((k, node)),
                }
            }
        }
    }
    Ok(docs)
}

/// What a node costs in [`Limits::expanded`], and how deep it nests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Size {
    cost: usize,
    depth: usize,
}

impl Size {
    const EMPTY: Size = Size { cost: 0, depth: 0 };

    /// Count a child of a collection.
    fn add(&mut self, child: Size) {
        self.cost = self.cost.saturating_add(child.cost);
        self.depth = self.depth.max(child.depth);
    }

    /// The collection itself, once its children are counted.
    fn closed(self) -> Size {
        Size { cost: self.cost.saturating_add(NODE_COST), depth: self.depth + 1 }
    }
}

fn alias_bomb(pos: Pos, aliases: usize, limits: Limits) -> SyntaxError {
    let message = if aliases > limits.aliases {
        format!(
            "more than {} YAML aliases in one file; refused as an alias bomb (aliases copy \
             their anchored node; write the repeated part out or split the file)",
            limits.aliases
        )
    } else {
        format!(
            "YAML aliases expand to more than {} MiB after {aliases} aliases; refused as an \
             alias bomb (at most {} aliases and {} MiB of copies per file)",
            limits.expanded >> 20,
            limits.aliases,
            limits.expanded >> 20
        )
    };
    SyntaxError { pos, message, kind: ErrorKind::Limit }
}

fn too_deep(pos: Pos, limits: Limits) -> SyntaxError {
    SyntaxError {
        pos,
        message: format!("YAML nested deeper than {} levels (aliases included)", limits.depth),
        kind: ErrorKind::Limit,
    }
}

enum Frame {
    Seq { items: Vec<Node>, pos: Pos, anchor: usize, size: Size },
    Map { entries: Vec<(Node, Node)>, key: Option<Node>, pos: Pos, anchor: usize, size: Size },
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
