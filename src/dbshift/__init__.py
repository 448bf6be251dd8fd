"""dbshift: SQL Server migrations on AWS as code."""

__version__ = "0.1.0"
