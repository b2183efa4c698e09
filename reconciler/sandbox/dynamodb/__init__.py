"""DynamoDB behaviour moto 5.2.5 lacks or makes slow, added from outside.

limits.py: BatchWriteItem's 25-request limit. scan.py: Scan pages that cost O(page),
not O(table). install.py: the patches, once per process.
"""
