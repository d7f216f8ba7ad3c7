//! Reading a rule's configuration.
//!
//! serde's derived `Deserialize` for a struct also accepts a JSON array of
//! the fields' values in declaration order, so `[100]` would read as
//! `{"maxAmountEuros": 100}`. No configuration author means that, and no
//! other language's SDK reads it so: a struct is read only from an object.

use serde::de::{DeserializeOwned, Deserializer, Visitor};

/// Parses a configuration, reading a struct only from a JSON object.
pub(crate) fn parse<C: DeserializeOwned>(text: &str) -> Result<C, serde_json::Error> {
    let mut json = serde_json::Deserializer::from_str(text);
    let config = C::deserialize(ObjectsOnly(&mut json))?;
    json.end()?;
    Ok(config)
}

/// serde_json's deserializer, except that the configuration itself, when it
/// is a struct, must be an object. Only the top level goes through it: the
/// fields are read by serde_json itself.
struct ObjectsOnly<'a, 'de>(&'a mut serde_json::Deserializer<serde_json::de::StrRead<'de>>);

macro_rules! forward {
    ($($method:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            self.0.$method(visitor)
        }
    )*};
}

impl<'de> Deserializer<'de> for ObjectsOnly<'_, 'de> {
    type Error = serde_json::Error;

    forward!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any,
    );

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_tuple_struct(name, len, visitor)
    }

    /// A struct is read as a map: an array is refused.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Limit {
        max: u32,
        #[serde(default)]
        tags: alloc::vec::Vec<alloc::string::String>,
    }

    #[test]
    fn a_struct_is_read_from_an_object_only() {
        let limit: Limit = super::parse(r#" {"max": 5, "tags": ["a"]} "#).unwrap();
        assert_eq!(limit.max, 5);
        let error = super::parse::<Limit>("[5]").unwrap_err();
        assert!(alloc::format!("{error}").contains("expected"), "{error}");
        assert!(super::parse::<Limit>(r#"{"max": 5} x"#).is_err());
    }

    #[test]
    fn other_shapes_are_read_as_usual() {
        assert_eq!(
            super::parse::<alloc::vec::Vec<u8>>("[1, 2]").unwrap(),
            [1, 2]
        );
        assert_eq!(super::parse::<Option<u8>>("null").unwrap(), None);
        assert_eq!(
            super::parse::<crate::Amount>("4.51")
                .unwrap()
                .to_minor_units(2),
            Some(451)
        );
    }
}
