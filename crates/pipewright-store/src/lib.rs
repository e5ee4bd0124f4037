//! pipewright-store (being written).
