"""Entry points of the Lambda functions: each turns one kind of event (read through Powertools'
event data classes) into one call into the core. The functions in functions/*/app.py are only
Powertools decorators around these, built by the composition root (ragchat/bootstrap.py)."""
