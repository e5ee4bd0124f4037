//! pipewright-http (being written).
