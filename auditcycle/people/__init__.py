"""Who is who: message recipients, the managers around a team, and who may do what."""
