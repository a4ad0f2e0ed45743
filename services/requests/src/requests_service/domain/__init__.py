"""The 依申请公开 request aggregate and its rules."""
