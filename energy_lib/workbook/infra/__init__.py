"""What the infrastructure is, as data (spec), and the Lambda zip (lambda_build)."""
