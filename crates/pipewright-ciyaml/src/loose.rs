//! A YAML value reader that accepts duplicate mapping keys like Ruby's Psych does:
//! the last value wins and the key keeps its first position.

use std::fmt;

use serde::de::{
    Deserialize, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use serde_norway::value::{Tag, TaggedValue};
use serde_norway::{Mapping, Value};

pub(crate) struct Loose(pub Value);

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Loose, E> {
        Ok(Loose(Value::Bool(b)))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Loose, E> {
        Ok(Loose(Value::Number(i.into())))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Loose, E> {
        Ok(Loose(Value::Number(u.into())))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Loose, E> {
        Ok(Loose(Value::Number(f.into())))
    }

    fn visit_str<E>(self, s: &str) -> Result<Loose, E> {
        Ok(Loose(Value::String(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Loose, E> {
        Ok(Loose(Value::String(s)))
    }

    fn visit_unit<E>(self) -> Result<Loose, E> {
        Ok(Loose(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Loose, E> {
        Ok(Loose(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Loose, D::Error> {
        Loose::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
        let mut items = Vec::new();
        while let Some(Loose(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Loose(Value::Sequence(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose, A::Error> {
        let mut mapping = Mapping::new();
        while let Some((Loose(key), Loose(value))) = map.next_entry()? {
            mapping.insert(key, value);
        }
        Ok(Loose(Value::Mapping(mapping)))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Loose, A::Error> {
        let (tag, contents): (String, _) = data.variant()?;
        let Loose(value) = contents.newtype_variant()?;
        Ok(Loose(Value::Tagged(Box::new(TaggedValue {
            tag: Tag::new(tag),
            value,
        }))))
    }
}
