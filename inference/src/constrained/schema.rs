//! Compiles the supported JSON Schema subset into a [`Grammar`]: a table of value nodes that the
//! character-level machine in `machine.rs` walks.
//!
//! Supported: `type` (one or a list), `properties` + `required` (properties come out in schema
//! order; optional ones may be skipped; no additional properties are ever written), `items`,
//! `minItems`/`maxItems`, `minLength`/`maxLength`, `enum`, `const`, `anyOf`/`oneOf` whose
//! alternatives start with different characters, integers and numbers (`minimum >= 0` forbids
//! the sign), booleans, null, local `$ref`. Annotations (`title`, `description`, `format`, ...) are
//! ignored. Anything that would constrain values in a way we cannot enforce is refused.

use serde_json::Value;

use crate::InferenceError;

/// Characters a string may hold when the schema sets no `maxLength`, so output always ends.
pub const DEFAULT_MAX_STRING_CHARS: u16 = 512;
/// Items an array may hold when the schema sets no `maxItems`.
pub const DEFAULT_MAX_ITEMS: u16 = 64;
/// Digits of an integer part (and of a fraction): enough for any `i64`-sized quantity a model
/// writes, few enough that f64 round-trips the value exactly in most cases.
pub const MAX_DIGITS: u8 = 15;
/// How deeply `$ref`s may nest (recursive schemas are refused).
const MAX_REF_DEPTH: usize = 24;

/// Keywords that constrain values in ways this compiler does not enforce.
const UNSUPPORTED: &[&str] = &[
    "pattern",
    "patternProperties",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "prefixItems",
    "contains",
    "minProperties",
    "maxProperties",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "uniqueItems",
];

/// A schema node: what one JSON value may be.
#[derive(Debug, Clone)]
pub enum Node {
    /// An object whose properties are written in order; optional ones may be skipped.
    Object {
        /// Value node of each property, in schema order.
        props: Vec<u16>,
        /// For each position `k` (`0..=props.len()`), the literal set of keys that may come next
        /// when properties before `k` are done (`None` when no key may come).
        key_sets: Vec<Option<u16>>,
        /// For each position `k`, whether `}` may come (no required property at or after `k`).
        closable: Vec<bool>,
    },
    /// An array of `item` values.
    Array {
        /// Node of every item.
        item: u16,
        /// Fewest items.
        min: u16,
        /// Most items.
        max: u16,
    },
    /// A string of `min..=max` characters.
    String {
        /// Fewest characters.
        min: u16,
        /// Most characters.
        max: u16,
    },
    /// One of a set of exact JSON texts (enum, const, booleans, null).
    Literal {
        /// The literal set.
        set: u16,
    },
    /// A number.
    Number {
        /// No fraction.
        integer: bool,
        /// A leading minus is allowed.
        signed: bool,
    },
    /// One of several nodes, told apart by their first byte.
    Union {
        /// The alternatives.
        options: Vec<u16>,
    },
}

/// Exact JSON texts, sorted by bytes, each with a payload (a property index for key sets).
#[derive(Debug, Clone, Default)]
pub struct LiteralSet {
    /// `(bytes, payload)` sorted by bytes; no entry is a prefix of another.
    pub items: Vec<(Vec<u8>, u16)>,
}

/// A compiled schema.
#[derive(Debug, Clone)]
pub struct Grammar {
    /// Value nodes; `root` is the whole document.
    pub nodes: Vec<Node>,
    /// Literal sets referenced by nodes.
    pub sets: Vec<LiteralSet>,
    /// The document's node.
    pub root: u16,
}

impl Grammar {
    /// Compiles `schema`.
    pub fn compile(schema: &Value) -> Result<Self, InferenceError> {
        let mut compiler = Compiler {
            root: schema,
            grammar: Grammar {
                nodes: Vec::new(),
                sets: Vec::new(),
                root: 0,
            },
        };
        let root = compiler.node(schema, 0)?;
        compiler.grammar.root = root;
        Ok(compiler.grammar)
    }

    /// Whether `byte` can start a value of `node`.
    pub fn starts(&self, node: u16, byte: u8) -> bool {
        match &self.nodes[node as usize] {
            Node::Object { .. } => byte == b'{',
            Node::Array { .. } => byte == b'[',
            Node::String { .. } => byte == b'"',
            Node::Number { signed, .. } => byte.is_ascii_digit() || (*signed && byte == b'-'),
            Node::Literal { set } => self.sets[*set as usize]
                .items
                .iter()
                .any(|(bytes, _)| bytes.first() == Some(&byte)),
            Node::Union { options } => options.iter().any(|&o| self.starts(o, byte)),
        }
    }
}

fn unsupported(what: String) -> InferenceError {
    InferenceError::InvalidRequest(format!("JSON Schema: {what}"))
}

struct Compiler<'a> {
    root: &'a Value,
    grammar: Grammar,
}

impl Compiler<'_> {
    fn push(&mut self, node: Node) -> Result<u16, InferenceError> {
        let id = u16::try_from(self.grammar.nodes.len())
            .map_err(|_| unsupported("schema too large".into()))?;
        self.grammar.nodes.push(node);
        Ok(id)
    }

    fn literal_set(&mut self, mut items: Vec<(Vec<u8>, u16)>) -> Result<u16, InferenceError> {
        items.sort();
        items.dedup_by(|a, b| a.0 == b.0);
        if items.is_empty() {
            return Err(unsupported("empty enum".into()));
        }
        for pair in items.windows(2) {
            if pair[1].0.starts_with(&pair[0].0) {
                return Err(unsupported(format!(
                    "enum values {} and {} cannot be told apart while writing",
                    String::from_utf8_lossy(&pair[0].0),
                    String::from_utf8_lossy(&pair[1].0)
                )));
            }
        }
        let id = u16::try_from(self.grammar.sets.len())
            .map_err(|_| unsupported("schema too large".into()))?;
        self.grammar.sets.push(LiteralSet { items });
        Ok(id)
    }

    fn literal_node(&mut self, values: &[Value]) -> Result<u16, InferenceError> {
        let items = values
            .iter()
            .map(|v| serde_json::to_vec(v).map(|bytes| (bytes, 0)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| unsupported(e.to_string()))?;
        let set = self.literal_set(items)?;
        self.push(Node::Literal { set })
    }

    fn node(&mut self, schema: &Value, depth: usize) -> Result<u16, InferenceError> {
        if depth > MAX_REF_DEPTH {
            return Err(unsupported(
                "schema nests too deeply (recursive $ref?)".into(),
            ));
        }
        let Some(object) = schema.as_object() else {
            return Err(unsupported(format!(
                "{schema} does not restrict the value; only typed schemas are supported"
            )));
        };
        if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
            let target = reference
                .strip_prefix('#')
                .and_then(|pointer| self.root.pointer(pointer))
                .ok_or_else(|| unsupported(format!("cannot resolve $ref {reference}")))?;
            return self.node(target, depth + 1);
        }
        if let Some(keyword) = UNSUPPORTED.iter().find(|k| object.contains_key(**k)) {
            if !(*keyword == "uniqueItems" && object[*keyword] == Value::Bool(false)) {
                return Err(unsupported(format!("keyword {keyword} is not supported")));
            }
        }
        if let Some(value) = object.get("const") {
            return self.literal_node(std::slice::from_ref(value));
        }
        if let Some(values) = object.get("enum") {
            let values = values
                .as_array()
                .ok_or_else(|| unsupported("enum is not an array".into()))?;
            return self.literal_node(values);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(options) = object.get(key) {
                let options = options
                    .as_array()
                    .ok_or_else(|| unsupported(format!("{key} is not an array")))?;
                let ids = options
                    .iter()
                    .map(|o| self.node(o, depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                return self.union(ids);
            }
        }
        match object.get("type") {
            Some(Value::String(name)) => self.typed(name, object, depth),
            Some(Value::Array(names)) => {
                let mut ids = Vec::with_capacity(names.len());
                for name in names {
                    let name = name
                        .as_str()
                        .ok_or_else(|| unsupported(format!("type {name} is not a string")))?;
                    ids.push(self.typed(name, object, depth)?);
                }
                self.union(ids)
            }
            Some(other) => Err(unsupported(format!("type {other} is not a string"))),
            None if object.contains_key("properties") => self.typed("object", object, depth),
            None if object.contains_key("items") => self.typed("array", object, depth),
            None => Err(unsupported(format!("schema {schema} has no type"))),
        }
    }

    fn union(&mut self, options: Vec<u16>) -> Result<u16, InferenceError> {
        if options.len() == 1 {
            return Ok(options[0]);
        }
        for byte in 0..=255u8 {
            let starting = options
                .iter()
                .filter(|&&o| self.grammar.starts(o, byte))
                .count();
            if starting > 1 {
                return Err(unsupported(format!(
                    "alternatives that can both start with {:?} are not supported",
                    char::from(byte)
                )));
            }
        }
        self.push(Node::Union { options })
    }

    fn typed(
        &mut self,
        name: &str,
        object: &serde_json::Map<String, Value>,
        depth: usize,
    ) -> Result<u16, InferenceError> {
        let bound = |key: &str, default: u16| -> Result<u16, InferenceError> {
            match object.get(key) {
                None => Ok(default),
                Some(v) => v
                    .as_u64()
                    .map(|n| u16::try_from(n).unwrap_or(u16::MAX))
                    .ok_or_else(|| unsupported(format!("{key} {v} is not a count"))),
            }
        };
        match name {
            "object" => self.object(object, depth),
            "array" => {
                let min = bound("minItems", 0)?;
                let max = bound("maxItems", DEFAULT_MAX_ITEMS.max(min))?;
                if min > max {
                    return Err(unsupported(format!("minItems {min} > maxItems {max}")));
                }
                let item = object
                    .get("items")
                    .ok_or_else(|| unsupported("array without items".into()))?;
                let item = self.node(item, depth + 1)?;
                self.push(Node::Array { item, min, max })
            }
            "string" => {
                let min = bound("minLength", 0)?;
                let max = bound("maxLength", DEFAULT_MAX_STRING_CHARS.max(min))?;
                if min > max {
                    return Err(unsupported(format!("minLength {min} > maxLength {max}")));
                }
                self.push(Node::String { min, max })
            }
            "integer" | "number" => {
                let signed = match object.get("minimum") {
                    None => true,
                    Some(v) if v.as_f64().is_some_and(|m| m == 0.0) => false,
                    Some(v) => {
                        return Err(unsupported(format!(
                            "minimum {v}: only minimum 0 is supported"
                        )))
                    }
                };
                self.push(Node::Number {
                    integer: name == "integer",
                    signed,
                })
            }
            "boolean" => self.literal_node(&[Value::Bool(false), Value::Bool(true)]),
            "null" => self.literal_node(&[Value::Null]),
            other => Err(unsupported(format!("type {other:?} is not supported"))),
        }
    }

    fn object(
        &mut self,
        object: &serde_json::Map<String, Value>,
        depth: usize,
    ) -> Result<u16, InferenceError> {
        let empty = serde_json::Map::new();
        let properties = match object.get("properties") {
            None => &empty,
            Some(p) => p
                .as_object()
                .ok_or_else(|| unsupported("properties is not an object".into()))?,
        };
        let required: Vec<&str> = match object.get("required") {
            None => Vec::new(),
            Some(r) => r
                .as_array()
                .ok_or_else(|| unsupported("required is not an array".into()))?
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| unsupported(format!("required {v}")))
                })
                .collect::<Result<_, _>>()?,
        };
        if let Some(missing) = required.iter().find(|r| !properties.contains_key(**r)) {
            return Err(unsupported(format!(
                "required property {missing:?} has no schema in properties"
            )));
        }
        let mut props = Vec::with_capacity(properties.len());
        let mut keys = Vec::with_capacity(properties.len());
        let mut is_required = Vec::with_capacity(properties.len());
        for (key, schema) in properties {
            props.push(self.node(schema, depth + 1)?);
            keys.push(serde_json::to_vec(key).map_err(|e| unsupported(e.to_string()))?);
            is_required.push(required.contains(&key.as_str()));
        }
        let n = props.len();
        let mut key_sets = Vec::with_capacity(n + 1);
        let mut closable = Vec::with_capacity(n + 1);
        for k in 0..=n {
            let first_required = (k..n).find(|&j| is_required[j]);
            closable.push(first_required.is_none());
            let last = first_required.unwrap_or(n.saturating_sub(1));
            if k == n {
                key_sets.push(None);
                continue;
            }
            let items = (k..=last)
                .map(|j| (keys[j].clone(), u16::try_from(j).unwrap_or(u16::MAX)))
                .collect();
            key_sets.push(Some(self.literal_set(items)?));
        }
        self.push(Node::Object {
            props,
            key_sets,
            closable,
        })
    }
}
