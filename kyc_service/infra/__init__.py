"""Infrastructure: the resource template, local resources, IAM policies, packaging and deployment."""
