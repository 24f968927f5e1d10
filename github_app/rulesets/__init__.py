"""The repository ruleset Countersign keeps on protected branches: GitHub's own prevention.

For every repository the App is installed on, Countersign keeps one repository ruleset named
``Countersign`` (target ``branch``, enforcement ``active``) over the default branch and every
``policy.protected_branches`` pattern.  It requires a pull request, requires the ``countersign``
status check pinned to the App (``integration_id``, enforced on creation too), and blocks force
pushes (``non_fast_forward``), deletion and creation; ``policy.rulesets`` may add GitHub's own
approval count and "approval of the most recent push".

* :mod:`github_app.rulesets.desired` - pure: the ruleset body the policy asks for.
* :mod:`github_app.rulesets.drift` - pure: how an existing ruleset falls short, and its repair.
* :mod:`github_app.rulesets.sync` - the shell: read, create, repair and report through GitHub.

``policy.rulesets.mode`` and the App permission each mode needs:

========  ======================================  =============================================
mode      what Countersign does                   App permission
========  ======================================  =============================================
enforce   creates the ruleset, repairs drift      Administration: **write**
audit     reports drift only, never writes        Administration: read (bypass actors are only
                                                  visible with write, so audit cannot see them)
off       leaves rulesets alone                   none
========  ======================================  =============================================

Pulling denied and bypassed pushes (rule suites) needs Administration: read in every mode, and
the ``repository_ruleset`` webhook event needs Administration: read to be delivered at all.
"""
