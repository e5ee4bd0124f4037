//! pipewright-ciyaml (being written).
