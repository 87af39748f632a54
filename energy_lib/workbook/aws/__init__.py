"""The pipeline's resources on either target: connecting (session), operating (ops), checking (checks)."""
