//! pipewright-runner (being written).
