//! pipewright-git (being written).
