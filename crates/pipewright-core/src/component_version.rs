//! A CI/CD component's version to a commit: `~latest` is the highest semantic-version tag,
//! `1` / `1.2` the highest tag of that major (and minor) version, anything else a tag, branch
//! or sha. This server has no CI/CD catalog, so every project's semver tags count as its
//! released versions (GitLab reads the catalog's releases for `~latest` and partial versions).

/// The commit `version` names in `repo`, if any.
pub(crate) fn resolve(repo: &pipewright_git::Repo, version: &str) -> Option<String> {
    let partial = partial(version);
    if version == "~latest" || partial.is_some() {
        let tags = repo.refs().ok()?;
        let best = tags
            .iter()
            .filter_map(|(name, sha)| Some((semver(name.strip_prefix("refs/tags/")?)?, sha)))
            .filter(|(v, _)| match partial {
                Some((major, minor)) => v.0 == major && minor.is_none_or(|minor| v.1 == minor),
                None => true,
            })
            .max_by_key(|(v, _)| *v)
            .map(|(_, sha)| sha.clone());
        if best.is_some() || version == "~latest" {
            return best;
        }
    }
    repo.resolve(version).ok().flatten()
}

/// `1` or `1.2` (GitLab's shorthand semver pattern).
fn partial(version: &str) -> Option<(u64, Option<u64>)> {
    let mut parts = version.split('.');
    let major = number(parts.next()?)?;
    let minor = match parts.next() {
        Some(minor) => Some(number(minor)?),
        None => None,
    };
    parts.next().is_none().then_some((major, minor))
}

/// A release tag `1.2.3` (or `v1.2.3`); pre-releases and builds are not releases here.
fn semver(tag: &str) -> Option<(u64, u64, u64)> {
    let text = tag.strip_prefix('v').unwrap_or(tag);
    let mut parts = text.split('.');
    let version = (
        number(parts.next()?)?,
        number(parts.next()?)?,
        number(parts.next()?)?,
    );
    parts.next().is_none().then_some(version)
}

fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{partial, semver};

    #[test]
    fn versions_parse_like_gitlab_shorthands() {
        assert_eq!(partial("1"), Some((1, None)));
        assert_eq!(partial("1.2"), Some((1, Some(2))));
        assert_eq!(partial("1.2.3"), None);
        assert_eq!(partial("main"), None);
        assert_eq!(semver("v1.10.0"), Some((1, 10, 0)));
        assert_eq!(semver("1.0.0-rc1"), None);
    }
}
