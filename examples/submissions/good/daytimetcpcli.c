/*
 * daytimetcpcli - daytime client (UNP intro/daytimetcpcli.c, libc only).
 *
 * usage: daytimetcpcli <IPaddress>
 * Connects to port 13, prints everything received until the server closes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/types.h>
#include <sys/socket.h>

#define DAYTIME_PORT 13
#define MAXLINE 4096

static void error(const char *msg)
{
    perror(msg);
    exit(1);
}

int main(int argc, char *argv[])
{
    int sockfd;
    ssize_t n;
    char recvline[MAXLINE + 1];
    struct sockaddr_in servaddr;

    if (argc != 2) {
        fprintf(stderr, "usage: %s <IPaddress>\n", argv[0]);
        exit(1);
    }

    if ((sockfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        error("socket");

    memset(&servaddr, 0, sizeof(servaddr));
    servaddr.sin_family = AF_INET;
    servaddr.sin_port = htons(DAYTIME_PORT);
    if (inet_pton(AF_INET, argv[1], &servaddr.sin_addr) <= 0) {
        fprintf(stderr, "inet_pton error for %s\n", argv[1]);
        exit(1);
    }

    if (connect(sockfd, (struct sockaddr *)&servaddr, sizeof(servaddr)) < 0)
        error("connect");

    for (;;) {
        n = read(sockfd, recvline, MAXLINE);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            error("read");
        }
        if (n == 0)
            break;
        recvline[n] = 0;        /* null terminate */
        if (fputs(recvline, stdout) == EOF)
            error("fputs");
    }

    close(sockfd);
    return 0;
}
