"""Access control: who the caller is (principal), what they may do (role, scopes),
the API tokens that prove it, and the activity trail of what was done and denied."""
