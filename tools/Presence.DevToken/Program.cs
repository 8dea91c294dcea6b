using System.CommandLine;
using System.Text.RegularExpressions;
using Presence.ServiceDefaults;
using Presence.Testing;

// ./dev.sh token ROLE ID: prints a dev JWT (HS256, issuer presence-dev, audience presence) signed with
// PRESENCE_DEV_SIGNING_KEY or the dev key the services accept in Development (README, "Authentication").
var role = new Argument<string>("role") { Description = "therapist or community" };
role.AcceptOnlyFromAmong("therapist", "community");
var id = new Argument<string>("id") { Description = "the user id, the token's sub: [A-Za-z0-9_.@-]{1,128}" };
id.Validators.Add(result =>
{
    if (!Regex.IsMatch(result.GetValue(id) ?? "", "^[A-Za-z0-9_.@-]{1,128}$", RegexOptions.None, TimeSpan.FromSeconds(1)))
    {
        result.AddError("ID must match [A-Za-z0-9_.@-]{1,128}");
    }
});
var hours = new Option<int>("--hours") { Description = "lifetime in hours", DefaultValueFactory = _ => 12 };
hours.Validators.Add(result =>
{
    if (result.GetValue(hours) is < 1 or > 24 * 30)
    {
        result.AddError("--hours must be 1 to 720");
    }
});

var command = new RootCommand("Prints a dev JWT the services accept in Development.") { role, id, hours };
command.SetAction(parsed =>
{
    var key = Environment.GetEnvironmentVariable(PresenceAuthOptions.DevSigningKeyVariable);
    Console.WriteLine(DevTokens.Mint(
        parsed.GetValue(role)!,
        parsed.GetValue(id)!,
        lifetime: TimeSpan.FromHours(parsed.GetValue(hours)),
        signingKey: string.IsNullOrEmpty(key) ? PresenceAuthOptions.DevSigningKey : key));
});
return command.Parse(args).Invoke();
