"""Keep Going: a chat companion for people who stepped away from therapy."""
