"""`synthgate evaluate`: does the accepted set train a better classifier of real text?"""
