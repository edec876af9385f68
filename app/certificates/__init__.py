"""Hub and trainee certificates: issue, render (WeasyPrint), sign (pyhanko), verify, revoke."""
