"""The embedded local AWS: the background stack, the local Lambda runtime, the provisioner."""
