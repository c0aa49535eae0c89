"""Imports of the caseload: staff, children, family contacts and availability, checked whole before writing."""
