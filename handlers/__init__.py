"""Thin Lambda entry points (`handlers.<fn>.main.handler`) over the `backend` library."""
