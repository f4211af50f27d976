//! The seed's Data Processing Pipeline (http_request → transform → file_operation) through the
//! binary.
