//! pipewright-protocol (being written).
