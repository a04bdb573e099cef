"""Telepresence robot agent."""
