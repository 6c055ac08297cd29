"""An integration written as Toast recommends: webhooks, plus periodic polling of the fallback
APIs so a missed (Not sent) webhook is recovered. See README.md beside this file."""
