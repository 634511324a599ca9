"""A study: a grid of campaigns in arms, its paired statistics and its committed report."""
