"""AWS adapters: the only package that imports boto3. Each module translates one kind."""
