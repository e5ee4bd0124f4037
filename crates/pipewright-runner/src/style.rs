//! ANSI styles of runner-written log lines, as GitLab Runner colours them.

pub(crate) const SECTION: &str = "\x1b[36;1m";
pub(crate) const SUCCESS: &str = "\x1b[32;1m";
pub(crate) const ERROR: &str = "\x1b[31;1m";
pub(crate) const WARNING: &str = "\x1b[0;33m";
pub(crate) const RESET: &str = "\x1b[0;m";
