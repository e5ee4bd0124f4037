//! pipewright-core (being written).
