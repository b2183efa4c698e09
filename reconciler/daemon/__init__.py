"""`reconciler run`: the long-running shell around the reconcile pass.

The daemon only schedules: file events, a resync timer, a git poller, signals and HTTP
requests decide *when* one worker thread runs a whole pass; what a pass does lives in
reconciler.engine.
"""
