"""Lambda behaviour moto 5.2.5 lacks, added from outside.

states.py: a function is Pending after CreateFunction and its LastUpdateStatus
InProgress after an update, for as many reads as the `lambda_update_reads` switch says;
writes during those states fail as on AWS. code_location.py: GetFunction's Code.Location
is a presigned-looking URL on the sandbox itself that answers with the package.
install.py: the patches, once per process.
"""
