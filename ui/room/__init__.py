"""The lecture room on every page: present, join, follow the lecturer, ask and reveal."""
