"""OCI images over the distribution API: the vocabulary (`oci`), the embedded registry server and its client."""
