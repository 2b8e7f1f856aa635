//! A YAML document as a tree of nodes that remember where they were written.
//!
//! `serde_yaml` reports a position only for syntax errors; rolecall needs one
//! for every key and value so that each diagnostic can point at the exact
//! spot. yaml-rust2's event parser gives a marker per event, and this module
//! turns those events into [`Node`]s. This is the only place that knows which
//! YAML crate we use.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::diagnostic::{FileId, Pos};

/// Aliases are expanded by copying; this caps the copies so that a "billion
/// laughs" document fails instead of eating the machine.
const MAX_ALIAS_NODES: usize = 1_000_000;

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: NodeKind,
    pub pos: Pos,
    /// It, or a node within it, defines an anchor (`&name`) or is an
    /// alias (`*name`): an edit of its text would change other entries too.
    pub shared: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone)]
pub(crate) struct Scalar {
    pub text: String,
    /// Written without quotes and without an explicit tag: YAML gives it a
    /// type by its text (`false`, `~`, `12`).
    pub plain: bool,
}

/// What a plain scalar means in YAML 1.2's core schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScalarType {
    Null,
    Bool(bool),
    Int,
    Float,
    Str,
}

impl Scalar {
    pub(crate) fn ty(&self) -> ScalarType {
        if !self.plain {
            return ScalarType::Str;
        }
        match self.text.as_str() {
            "" | "~" | "null" | "Null" | "NULL" => ScalarType::Null,
            "true" | "True" | "TRUE" => ScalarType::Bool(true),
            "false" | "False" | "FALSE" => ScalarType::Bool(false),
            t if is_int(t) => ScalarType::Int,
            t if t.parse::<f64>().is_ok() && t.chars().any(|c| c.is_ascii_digit()) => {
                ScalarType::Float
            }
            _ => ScalarType::Str,
        }
    }
}

fn is_int(t: &str) -> bool {
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

impl Node {
    /// A short name of the node's type, for "expected X, found Y" messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
            NodeKind::Scalar(s) => match s.ty() {
                ScalarType::Null => "nothing (null)",
                ScalarType::Bool(_) => "a boolean",
                ScalarType::Int => "a number",
                ScalarType::Float => "a number",
                ScalarType::Str => "a string",
            },
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar(s) if s.ty() == ScalarType::Null)
    }
}

/// A YAML syntax error, or a document rolecall cannot use as a whole.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
}

/// Parses one file into its single document. An empty file is `Ok(None)`.
pub(crate) fn parse(file: FileId, text: &str) -> Result<Option<Node>, SyntaxError> {
    let mut builder = Builder {
        file,
        stack: Vec::new(),
        anchors: HashMap::new(),
        documents: Vec::new(),
        document_starts: Vec::new(),
        alias_nodes: 0,
        error: None,
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        let message = e.info().to_string();
        let hint = syntax_hint(&message);
        return Err(SyntaxError {
            pos: builder.pos(*e.marker(), 1),
            message: format!("invalid YAML: {message}"),
            hint,
        });
    }
    if let Some(err) = builder.error {
        return Err(err);
    }
    let mut documents = builder.documents.into_iter();
    let first = documents.next();
    if let Some(second) = documents.next() {
        // Point at the `---` that starts the second document, if written.
        let pos = builder
            .document_starts
            .iter()
            .copied()
            .find(|p| {
                p.line > first.as_ref().map_or(0, |f| f.pos.line) && p.line <= second.pos.line
            })
            .unwrap_or(second.pos);
        return Err(SyntaxError {
            pos,
            message: "a file may hold only one YAML document".into(),
            hint: Some(
                "split the documents at `---` into separate files in the config directory".into(),
            ),
        });
    }
    Ok(first)
}

fn syntax_hint(message: &str) -> Option<String> {
    let hint = if message.contains("mapping values are not allowed") {
        "a value that contains `: ` must be quoted, e.g. `description: \"Note: ...\"`"
    } else if message.contains("tab") {
        "YAML indentation must use spaces, not tabs"
    } else if message.contains("did not find expected key") || message.contains("block mapping") {
        "check the indentation of this line against the lines above it"
    } else if message.contains("unknown anchor") || message.contains("alias") {
        "define the anchor (`&name`) before the alias (`*name`) that uses it"
    } else if message.contains("flow sequence") || message.contains("flow mapping") {
        "a `[` list or `{` mapping is missing its closing bracket, or a comma between items"
    } else if message.contains("quoted scalar") {
        "a quoted string is missing its closing quote"
    } else {
        return None;
    };
    Some(hint.to_string())
}

enum Partial {
    Seq(Pos, usize, Vec<Node>),
    Map(Pos, usize, Vec<(Node, Node)>, Option<Node>),
}

struct Builder {
    file: FileId,
    stack: Vec<Partial>,
    anchors: HashMap<usize, Node>,
    documents: Vec<Node>,
    /// Where each `---` was.
    document_starts: Vec<Pos>,
    alias_nodes: usize,
    error: Option<SyntaxError>,
}

impl Builder {
    fn pos(&self, mark: Marker, len: usize) -> Pos {
        Pos {
            file: self.file,
            line: u32::try_from(mark.line()).unwrap_or(u32::MAX),
            col: u32::try_from(mark.col() + 1).unwrap_or(u32::MAX),
            len: u32::try_from(len.max(1)).unwrap_or(u32::MAX),
        }
    }

    fn finish(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.documents.push(node),
            Some(Partial::Seq(_, _, items)) => items.push(node),
            Some(Partial::Map(_, _, entries, key)) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
}

fn count_nodes(node: &Node) -> usize {
    1 + match &node.kind {
        NodeKind::Scalar(_) => 0,
        NodeKind::Seq(items) => items.iter().map(count_nodes).sum(),
        NodeKind::Map(entries) => entries
            .iter()
            .map(|(k, v)| count_nodes(k) + count_nodes(v))
            .sum(),
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let quoted = !matches!(style, TScalarStyle::Plain);
                let len = text.chars().count() + if quoted { 2 } else { 0 };
                let pos = self.pos(mark, len);
                let scalar = Scalar {
                    text,
                    plain: !quoted && tag.is_none(),
                };
                self.finish(
                    Node {
                        kind: NodeKind::Scalar(scalar),
                        pos,
                        shared: anchor > 0,
                    },
                    anchor,
                );
            }
            Event::SequenceStart(anchor, _) => {
                let pos = self.pos(mark, 1);
                self.stack.push(Partial::Seq(pos, anchor, Vec::new()));
            }
            Event::MappingStart(anchor, _) => {
                let pos = self.pos(mark, 1);
                self.stack.push(Partial::Map(pos, anchor, Vec::new(), None));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Partial::Seq(pos, anchor, items)) => (
                        Node {
                            shared: anchor > 0 || items.iter().any(|n| n.shared),
                            kind: NodeKind::Seq(items),
                            pos,
                        },
                        anchor,
                    ),
                    Some(Partial::Map(pos, anchor, entries, _)) => (
                        Node {
                            // The parser marks a block mapping where it sees
                            // its first `:`; its first key is where it starts.
                            pos: entries
                                .first()
                                .map_or(pos, |(k, _)| Pos { len: 1, ..k.pos }),
                            shared: anchor > 0 || entries.iter().any(|(k, v)| k.shared || v.shared),
                            kind: NodeKind::Map(entries),
                        },
                        anchor,
                    ),
                    None => return,
                };
                self.finish(node, anchor);
            }
            Event::Alias(id) => {
                let pos = self.pos(mark, 1);
                let Some(target) = self.anchors.get(&id).cloned() else {
                    self.error = Some(SyntaxError {
                        pos,
                        message: "alias refers to an unknown anchor".into(),
                        hint: syntax_hint("alias"),
                    });
                    return;
                };
                self.alias_nodes += count_nodes(&target);
                if self.alias_nodes > MAX_ALIAS_NODES {
                    self.error = Some(SyntaxError {
                        pos,
                        message: format!("aliases expand to more than {MAX_ALIAS_NODES} nodes"),
                        hint: Some(
                            "write the repeated parts out, or use fewer nested aliases".into(),
                        ),
                    });
                    return;
                }
                // The copy keeps the anchor's positions: errors in it point at
                // where it was written, which is where it must be fixed.
                self.finish(
                    Node {
                        shared: true,
                        ..target
                    },
                    0,
                );
            }
            Event::DocumentStart => {
                let pos = self.pos(mark, 3);
                self.document_starts.push(pos);
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Node {
        parse(FileId(0), text).unwrap().unwrap()
    }

    #[test]
    fn nodes_that_define_or_use_an_anchor_are_shared() {
        let root = parse_ok("a: {x: &n 1}\nb: [*n]\nc: {x: 2}\n");
        let NodeKind::Map(entries) = &root.kind else {
            panic!("a map")
        };
        let shared: Vec<bool> = entries.iter().map(|(_, v)| v.shared).collect();
        assert_eq!(shared, [true, true, false]);
        assert!(root.shared);
    }

    #[test]
    fn positions_are_one_based_line_and_column() {
        let node = parse_ok("site: acme\nroles:\n  Admin:\n    description: x\n");
        let NodeKind::Map(entries) = &node.kind else {
            panic!("not a map")
        };
        let (k, v) = &entries[1];
        assert_eq!((k.pos.line, k.pos.col), (2, 1));
        let NodeKind::Map(roles) = &v.kind else {
            panic!()
        };
        assert_eq!((roles[0].0.pos.line, roles[0].0.pos.col), (3, 3));
    }

    #[test]
    fn scalar_types_follow_yaml_1_2() {
        let node = parse_ok("[false, ~, 12, '12', x, 1.5, \"\"]");
        let NodeKind::Seq(items) = node.kind else {
            panic!()
        };
        let tys: Vec<_> = items
            .iter()
            .map(|n| match &n.kind {
                NodeKind::Scalar(s) => s.ty(),
                _ => panic!(),
            })
            .collect();
        use ScalarType::*;
        assert_eq!(tys, [Bool(false), Null, Int, Str, Str, Float, Str]);
    }

    #[test]
    fn empty_file_is_no_document_and_two_documents_are_an_error() {
        assert!(parse(FileId(0), "").unwrap().is_none());
        assert!(parse(FileId(0), "# only a comment\n").unwrap().is_none());
        let err = parse(FileId(0), "a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(err.pos.line, 2, "points at the `---`");
    }

    #[test]
    fn aliases_copy_and_bombs_are_refused() {
        let node = parse_ok("a: &x [1, 2]\nb: *x\n");
        let NodeKind::Map(entries) = node.kind else {
            panic!()
        };
        assert!(matches!(&entries[1].1.kind, NodeKind::Seq(items) if items.len() == 2));

        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse(FileId(0), &bomb).unwrap_err();
        assert!(err.message.contains("aliases expand"), "{}", err.message);
    }
}

impl Node {
    /// The node as JSON: keys as their text, plain scalars typed by YAML 1.2's
    /// core schema, everything else a string.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.key_text(), v.to_json()))
                    .collect(),
            ),
            NodeKind::Scalar(s) => match s.ty() {
                ScalarType::Null => Value::Null,
                ScalarType::Bool(b) => Value::Bool(b),
                ScalarType::Int => s
                    .text
                    .parse::<i64>()
                    .map_or_else(|_| Value::String(s.text.clone()), Value::from),
                ScalarType::Float => s
                    .text
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map_or_else(|| Value::String(s.text.clone()), Value::Number),
                ScalarType::Str => Value::String(s.text.clone()),
            },
        }
    }

    fn key_text(&self) -> String {
        match &self.kind {
            NodeKind::Scalar(s) => s.text.clone(),
            _ => self.to_json().to_string(),
        }
    }
}

#[cfg(test)]
mod json_tests {
    use crate::config::load::yaml_to_json;

    #[test]
    fn yaml_reads_as_json_with_core_schema_types() {
        let doc =
            yaml_to_json("on:\n  push: {branches: [main]}\nn: 3\nx: ~\nt: true\ns: '3'\n").unwrap();
        assert_eq!(
            doc,
            serde_json::json!({"on": {"push": {"branches": ["main"]}}, "n": 3, "x": null, "t": true, "s": "3"})
        );
        let err = yaml_to_json("a: [1\n").unwrap_err();
        assert!(err.starts_with("2:1: invalid YAML"), "{err}");
    }
}
