//! A CI/CD component address, `<server fqdn>/<project full path>/<component name>@<version>`
//! (GitLab's `Components::InstancePath`): the last `/` separates the project from the name.

pub(crate) struct Path<'a> {
    /// The address without the server and the version: `group/project/name`.
    instance_path: &'a str,
    pub(crate) version: &'a str,
}

impl<'a> Path<'a> {
    /// `None` when the address is not one of this server's components (no `@`, or another
    /// host).
    pub(crate) fn parse(address: &'a str, fqdn: &str) -> Option<Path<'a>> {
        if fqdn.is_empty() || fqdn.starts_with(':') || fqdn.ends_with(':') {
            return None;
        }
        let (full_path, version) = address.split_once('@')?;
        let instance_path = full_path.strip_prefix(fqdn)?.strip_prefix('/')?;
        Some(Path {
            instance_path,
            version,
        })
    }

    /// The project's full path and the component's name.
    pub(crate) fn project_and_name(&self) -> Option<(&'a str, &'a str)> {
        if self.instance_path.starts_with('/') {
            return None;
        }
        let (project, name) = self.instance_path.rsplit_once('/')?;
        (!project.is_empty() && !name.is_empty()).then_some((project, name))
    }
}

#[cfg(test)]
mod tests {
    use super::Path;

    #[test]
    fn the_last_slash_separates_project_and_name() {
        let path = Path::parse("ci.example.com/group/sub/proj/lint@1.0", "ci.example.com");
        assert_eq!(
            path.as_ref().and_then(Path::project_and_name),
            Some(("group/sub/proj", "lint"))
        );
        assert_eq!(path.map(|p| p.version), Some("1.0"));
    }

    #[test]
    fn other_hosts_and_missing_versions_are_not_components() {
        assert!(Path::parse("gitlab.com/group/proj/lint@1.0", "ci.example.com").is_none());
        assert!(Path::parse("ci.example.com/group/proj/lint", "ci.example.com").is_none());
        assert!(Path::parse("ci.example.comx/group/proj/lint@1", "ci.example.com").is_none());
    }
}
