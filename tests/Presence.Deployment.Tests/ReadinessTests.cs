using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Presence.ServiceDefaults;

namespace Presence.Deployment.Tests;

/// <summary>
/// Readiness that fits the failure (docs/operations.md, "Readiness"), for every service as booted from its real
/// Program: a Redis outage leaves every pod live and ready (Degraded), since each still answers correctly; a
/// host that is shutting down is not ready; liveness never looks at Redis.
/// </summary>
public sealed class ReadinessTests : IAsyncLifetime
{
    private readonly RedisServer _redis = new();
    private readonly List<ServiceApp> _apps = [];

    public async ValueTask InitializeAsync()
    {
        await _redis.InitializeAsync();
        _apps.AddRange(Repo.Services.Select(s => ServiceApp.Create(s, _redis)));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task A_redis_outage_leaves_every_service_live_and_ready_degraded_and_recovery_makes_it_healthy()
    {
        var clients = _apps.ToDictionary(a => a.Service.Folder, a => a.CreateClient());
        foreach (var (service, client) in clients)
        {
            Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(client, Extensions.HealthReadyPath));
        }

        await _redis.StopAsync();
        foreach (var (service, client) in clients)
        {
            await Poll.UntilAsync(async () => await GetAsync(client, Extensions.HealthReadyPath) == (HttpStatusCode.OK, "Degraded"), $"{service} ready, degraded");
            Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(client, Extensions.HealthLivePath));
        }

        await _redis.StartAsync();
        foreach (var (service, client) in clients)
        {
            await Poll.UntilAsync(async () => await GetAsync(client, Extensions.HealthReadyPath) == (HttpStatusCode.OK, "Healthy"), $"{service} healthy again");
        }
    }

    [Fact]
    public void Liveness_checks_nothing_but_the_process_and_readiness_includes_redis_as_degraded()
    {
        foreach (var app in _apps)
        {
            var registrations = app.Services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations;
            Assert.Equal(["self"], registrations.Where(r => r.Tags.Contains(Extensions.LiveTag)).Select(r => r.Name));
            var redis = registrations.Single(r => r.Name == Extensions.RedisHealthCheckName);
            Assert.Contains(Extensions.ReadyTag, redis.Tags);
            Assert.Equal(HealthStatus.Degraded, redis.FailureStatus);
        }
    }

    [Fact]
    public async Task A_stopping_host_is_not_ready()
    {
        var app = _apps.First(a => a.Service.Folder == "heartbeat-api");
        using var client = app.CreateClient();
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(client, Extensions.HealthReadyPath));
        var registration = app.Services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations
            .Single(r => r.Name == Extensions.DrainingHealthCheckName);
        Assert.Contains(Extensions.ReadyTag, registration.Tags);
        var check = registration.Factory(app.Services);
        var context = new HealthCheckContext { Registration = registration };
        Assert.Equal(HealthStatus.Healthy, (await check.CheckHealthAsync(context, Ct)).Status);

        // SIGTERM: the host stops (and disposes its services); the check it made keeps reporting.
        app.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();

        var draining = await check.CheckHealthAsync(context, Ct);
        Assert.Equal(HealthStatus.Unhealthy, draining.Status);
        Assert.Equal("Shutting down.", draining.Description);
    }

    private static async Task<(HttpStatusCode, string)> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative), Ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct));
    }
}
