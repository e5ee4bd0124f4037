//! Small serde adapters for GitLab's loose JSON.

use serde::{Deserialize, Deserializer};

/// Reads `null` (or a missing key, together with `#[serde(default)]`) as the type's default:
/// clients send `null` for several arrays GitLab documents as arrays.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `skip_serializing_if` for flags GitLab omits when false (`file`, `raw`).
pub(crate) fn is_false(value: &bool) -> bool {
    !*value
}
