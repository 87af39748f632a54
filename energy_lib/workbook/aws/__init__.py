"""The pipeline's resources on either target: operating (ops), checking (checks), reading the stream (streams)."""
